"""Running the student's code apart from the grader.

interface.py     the Student interface the hidden checks use (Ref, Direct for objects in
                 this interpreter), StudentError
proxy.py         Remote (the same interface over a pipe and the arena) and Sandbox, which
                 starts the student server under bubblewrap (a weak plain subprocess only
                 when explicitly allowed)
arena.py         the grader's sealed shared memory: share/observe read facts about the
                 student's code from it without asking the student's process
student_server.py  runs INSIDE the sandbox: executes the student's cells, answers requests
wire.py          the message format both sides share (JSON + .npy blobs, never pickle)
"""
