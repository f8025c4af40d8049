"""Running the student's code apart from the grader.

interface.py     the Student interface the hidden checks use (Ref, Direct for objects in
                 this interpreter), StudentError
proxy.py         Sandbox: starts the student server under bubblewrap (a weak plain
                 subprocess only when explicitly allowed), sends it requests, stops it
remote.py        Remote: the Student interface over a Sandbox's pipe and arena
bwrap.py         the bubblewrap command line (what the sandbox sees), the user namespace
                 kept for a grader running as root, the weak sandbox's layout
limits.py        memory (a cgroup per sandbox, else per-process), CPU, process and file
                 size limits
errors.py        SandboxError and its kinds (died, memory, timeout, protocol), RequestTimeout
arena.py         the grader's sealed shared memory: share/observe read facts about the
                 student's code from it without asking the student's process
student_server.py  runs INSIDE the sandbox: executes the student's cells, answers requests
wire.py          the message format both sides share (JSON + .npy blobs, never pickle)
"""
