"""Grading on a Dask cluster: the batch's tasks sent to the workers of a Dask scheduler.

    runner = DaskCluster.connect("tcp://HOST:8786", allow_weak=False)   # ClusterError if unusable
    runner.send(assignment)            # to every worker, once
    grade_batch(course, pending, limits, runner, ...)   (autograder/batch.py)

Every worker needs this project installed (the same grading code: its digest is compared)
and bubblewrap; connect() starts one sandbox on each worker and grades only on those where
it works (a worker whose sandbox is weak is refused unless allow_weak, like `grade`
--allow-weak-sandbox), with each refused worker's reason printed; no usable worker is a
ClusterError before anything is written. A worker gets only the GradingTask (the
submission's bytes, seed, limits) and the Assignment; it returns a GradedSubmission, and
nothing of the course is ever on a worker. A worker lost in the middle of a task: the
scheduler gives the task to another worker. Over its time budget a task is cancelled and
the submission gets 0 (its sandbox stops at its own wall time).
"""
from autograder.task import check_sandbox, code_digest, grade_task

CONNECT_TIMEOUT = 15     # seconds to reach the scheduler
WORKERS_TIMEOUT = 60     # seconds to wait for a first worker


class ClusterError(Exception):
    """The cluster cannot grade (scheduler unreachable, no worker, no worker with a sandbox);
    the message says what to do."""


class DaskCluster:
    """A Dask cluster's workers as the batch's runner (same interface as batch.LocalPool)."""

    loses_all = False   # a lost worker's tasks go to the others; nothing else is lost

    def __init__(self, client, workers, sandbox):
        self.client, self.workers, self.sandbox = client, workers, sandbox
        self.assignment = None
        self.sent = set()   # futures of the tasks sent whose outcome was not taken

    @classmethod
    def connect(cls, address, allow_weak=False, connect_timeout=CONNECT_TIMEOUT, workers_timeout=WORKERS_TIMEOUT):
        """Connects to the scheduler at address and checks every worker's sandbox and code;
        prints one line per worker."""
        from distributed import Client

        try:
            client = Client(address, timeout=connect_timeout, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as e:
            raise ClusterError(f"the Dask scheduler at {address} is unreachable ({type(e).__name__}: {e}). "
                               f"Start it (dask scheduler) and its workers (dask worker {address}), check the "
                               f"address and the firewall, or grade on this machine without --scheduler.") from None
        try:
            try:
                client.wait_for_workers(1, timeout=workers_timeout)
            except TimeoutError:
                raise ClusterError(f"the Dask scheduler at {address} has no worker (waited {workers_timeout} s). "
                                   f"Start workers on the grading machines: dask worker {address}") from None
            checks = client.run(check_sandbox, allow_weak)
            ours = code_digest()
            usable = []
            for worker, check in sorted(checks.items()):
                problem = check.problem or ("" if check.code == ours else
                                            f"its autograder package differs from this one (code {check.code}, here "
                                            f"{ours}): install the same version of the project on the worker")
                print(f"  worker {worker}: " + (f"REFUSED: {problem}" if problem else f"sandbox {check.description}"),
                      flush=True)
                if not problem:
                    usable.append((worker, check.kind))
            if not usable:
                raise ClusterError(f"no worker of the Dask scheduler at {address} can grade (reasons above)")
        except BaseException:
            client.close()
            raise
        kinds = sorted({kind for _, kind in usable}, key=lambda kind: kind == "bwrap")
        # only the checked workers grade when some were refused; else any worker, those joining later too
        workers = [worker for worker, _ in usable] if len(usable) < len(checks) else None
        return cls(client, workers, kinds[0])

    def describe(self):
        return f"the workers of the Dask scheduler at {self.client.scheduler.address} ({self.slots()} threads)"

    def send(self, assignment):
        """The assignment to every worker, once."""
        [self.assignment] = self.client.scatter([assignment], broadcast=True, hash=False)

    def slots(self):
        """Tasks in flight: one per worker thread (a task's deadline starts when it is sent)."""
        threads = self.client.nthreads()
        return max(1, sum(n for worker, n in threads.items() if self.workers is None or worker in self.workers))

    def submit(self, task):
        future = self.client.submit(grade_task, task, self.assignment, pure=False, workers=self.workers,
                                    allow_other_workers=False)
        self.sent.add(future)
        return future

    def wait(self, futures, timeout):
        from distributed import wait

        try:
            with self.client.as_current():
                return wait(futures, timeout=max(timeout, 0.05), return_when="FIRST_COMPLETED").done
        except TimeoutError:
            return set()

    def outcome(self, future):
        from autograder.batch import WorkerLost

        self.sent.discard(future)
        try:
            return future.result()
        except Exception as e:  # KilledWorker: the task's workers died; or the worker could not run it
            raise WorkerLost(f"the Dask cluster could not grade a submission ({type(e).__name__}: {e})") from None

    def stop(self, overdue, others):
        """Cancels the overdue tasks; the others go on."""
        self.client.cancel(overdue, force=True)
        self.sent.difference_update(overdue)
        return []

    def close(self, kill=False):
        """Cancels what is still running (kill) and disconnects; the cluster stays up."""
        if kill and self.sent:
            self.client.cancel(list(self.sent), force=True)
        self.sent.clear()
        self.client.close()
