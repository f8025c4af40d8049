"""The course secret, and each student's seed of the hidden checks' inputs.

    course_secret(course_root) -> bytes    32 random bytes in <course>/.grade/secret (mode
                                           0600), created on first use, never overwritten
    student_seed(secret, student) -> int   HMAC-SHA256(secret, student id), first 8 bytes:
                                           a 64-bit seed

`grade` gives each check the student's seed (nbgrader_adapter.Course.autograde ->
verify.verify_cells -> autograder.checks), so the check's random inputs differ from
student to student and from course to course, while the same student always gets the same
inputs and grades are reproducible. The secret never leaves the grader: the sandbox sees
neither it nor the seed, only the inputs drawn from it.
"""
import hashlib
import hmac
import os
import tempfile
from pathlib import Path

SECRET_BYTES = 32


class BadSecret(RuntimeError):
    """The course's secret file exists but is not a secret this module wrote (wrong size):
    it is never replaced, since every student's inputs derive from it."""


def secret_path(course_root):
    return Path(course_root) / ".grade" / "secret"


def course_secret(course_root):
    """The course's secret (SECRET_BYTES bytes): read from <course>/.grade/secret, or made
    there first (random, mode 0600). Safe when several workers ask at once: the file
    appears complete or not at all, and the first one made is the one kept."""
    path = secret_path(course_root)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".secret-")  # mode 0600
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(os.urandom(SECRET_BYTES))
            os.link(temporary, path)  # fails if another process made it first: keep that one
        except FileExistsError:
            pass
        finally:
            os.unlink(temporary)
    secret = path.read_bytes()
    if len(secret) != SECRET_BYTES:
        raise BadSecret(f"{path} holds {len(secret)} bytes, not {SECRET_BYTES}: restore it from a backup "
                        f"(a new secret would change every student's hidden inputs)")
    return secret


def student_seed(secret, student):
    """The 64-bit seed of student's hidden inputs: HMAC-SHA256(secret, student id)."""
    digest = hmac.new(secret, str(student).encode("utf-8"), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big")
