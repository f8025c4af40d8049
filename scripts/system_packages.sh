#!/bin/sh
# The Debian packages the course needs beyond Python, installed when this user can (root with
# apt-get); otherwise one line with the exact command. Used by `make demo`, `make test` and CI.
#
#   scripts/system_packages.sh demo   bubblewrap: the sandbox in which `grade` runs students' code
#                                     (grade refuses to start without it)
#   scripts/system_packages.sh test   the same, and for the tests that use them (they skip, saying
#                                     why, without):
#                                     chromium + fonts-wqy-microhei: the browser tests (pinned
#                                       playwright drives Debian's chromium; Chinese glyphs);
#                                     nodejs, npm, python3-venv: the course hub of the end-to-end
#                                       test (configurable-http-proxy; a venv of /usr/bin/python3),
#                                       and, as root, the hub's pinned software in /opt/mlp-course-hub;
#                                     libnss-wrapper: the Kubernetes image's uid names, tried here;
#                                     slurmctld, slurmd, slurm-client, munge: a single-node SLURM
#                                       cluster for grading through dask-jobqueue (tests/test_dask_slurm.py)
#
# Exit status: 1 when a package `demo` needs is missing and cannot be installed, else 0.
set -u
goal="${1:-test}"
cd "$(dirname "$0")/.."

needed="" optional=""
command -v bwrap >/dev/null 2>&1 || needed="$needed bubblewrap"
if [ "$goal" = test ]; then
    [ -x /usr/bin/chromium ] || optional="$optional chromium"
    [ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || optional="$optional fonts-wqy-microhei"
    command -v node >/dev/null 2>&1 || optional="$optional nodejs"
    command -v npm >/dev/null 2>&1 || optional="$optional npm"
    { [ -x /usr/bin/python3 ] && /usr/bin/python3 -c "import venv, ensurepip" >/dev/null 2>&1; } \
        || optional="$optional python3-venv"
    ls /usr/lib/*/libnss_wrapper.so >/dev/null 2>&1 \
        || optional="$optional libnss-wrapper"
    for program in slurmctld:slurmctld slurmd:slurmd sbatch:slurm-client munged:munge; do
        command -v "${program%%:*}" >/dev/null 2>&1 || [ -x "/usr/sbin/${program%%:*}" ] \
            || optional="$optional ${program#*:}"
    done
fi
missing="$needed$optional"

if [ -n "$missing" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Debian packages:$missing ..."
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing; } >/dev/null 2>&1; then
        # one package at a time, so that one that cannot be installed does not stop the others
        for package in $missing; do
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null 2>&1 \
                || echo "could not install $package"
        done
    fi
    command -v bwrap >/dev/null 2>&1 && needed=""
    [ -z "$needed" ] || echo "bubblewrap could not be installed: grade refuses to start without it."
elif [ -n "$missing" ]; then
    echo "Missing Debian packages:$missing${needed:+ (grade refuses to start without bubblewrap)}." \
         "Install them with: sudo apt-get install -y$missing"
fi

# The course hub's software (pinned), for its end-to-end test: as root, with node and npm.
if [ "$goal" = test ] && [ "$(id -u)" = 0 ] && command -v npm >/dev/null 2>&1 && [ -x /usr/bin/python3 ]; then
    /usr/bin/python3 deploy/jupyterhub/course_hub.py install >/dev/null \
        || echo "could not install the course hub's software (its end-to-end test will skip)"
fi

[ -z "$needed" ]
