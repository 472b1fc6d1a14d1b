#!/bin/sh
# Baseline B: the sync a user would write by hand, for comparison with Memory Vault.
#   peer_sync.sh SOURCE_DIR CLONE_DIR
# Copies the memory files into the clone, adds them, commits if anything changed, pushes.
set -e
src="$1"
clone="$2"
mkdir -p "$clone/rAgentShared"
for f in "$src"/*.json; do
  [ -e "$f" ] && cp "$f" "$clone/rAgentShared/"
done
cd "$clone"
git add rAgentShared
if ! git diff --cached --quiet; then
  git commit -q -m "Memory vault sync $(date -u +%Y-%m-%dT%H:%M:%SZ)"
fi
git push -q origin HEAD:main
