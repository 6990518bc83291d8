#!/bin/sh
# Install the exchange into a virtual environment: what the container image
# runs, what a plain server install runs, and what the tests run on a clean
# virtual environment.
#
#   deploy/install.sh SOURCE PREFIX
#
# SOURCE is a checkout of the exchange, PREFIX the virtual environment to
# create (e.g. /opt/exchange); afterwards PREFIX/bin/exchange is the command.
set -eu
source_dir=${1:?usage: install.sh SOURCE PREFIX}
prefix=${2:?usage: install.sh SOURCE PREFIX}
python=${PYTHON:-python3}

"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { echo "install.sh: Python 3.11 or newer is needed ($python)" >&2; exit 1; }
"$python" -m venv "$prefix"
"$prefix/bin/pip" install --quiet --disable-pip-version-check --no-cache-dir "$source_dir"
# The command must run: it checks its own imports and prints the schema.
"$prefix/bin/exchange" export-schema > /dev/null
echo "installed $("$prefix/bin/exchange" --version) into $prefix"
