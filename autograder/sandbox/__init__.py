"""Running the student's code apart from the grader.

interface.py     the Student interface the hidden checks use (Ref, Direct for objects in
                 this interpreter), StudentError
proxy.py         Remote (the same interface over a pipe) and Sandbox, which starts the
                 student server under bubblewrap (or, failing that, a limited subprocess)
student_server.py  runs INSIDE the sandbox: executes the student's cells, answers requests
wire.py          the message format both sides share (JSON + .npy blobs, never pickle)
"""
