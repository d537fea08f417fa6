#!/usr/bin/env bash
# Fail when protos/ changed incompatibly (buf FILE rules, see buf.yaml) since a
# previous commit: generated Python code is imported by file, so FILE is the
# level that protects our consumers.
#
#   tools/buf_breaking.sh            compare the working tree with HEAD~1
#   BUF_BREAKING_AGAINST=origin/main tools/buf_breaking.sh
#
# Skips (exit 0, with a message) when there is nothing to compare with: no
# previous commit, or a previous commit without protos. A shallow clone is
# deepened by one commit when it has a remote; otherwise the check is skipped.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
against="${BUF_BREAKING_AGAINST:-HEAD~1}"

skip() {
  printf 'buf breaking: skipped: %s\n' "$*"
  exit 0
}

has_commit() { git rev-parse --verify --quiet "$1^{commit}" >/dev/null; }

git rev-parse --git-dir >/dev/null 2>&1 || skip "not a git repository"
has_commit HEAD || skip "the repository has no commit yet"

if ! has_commit "$against" && [[ "$(git rev-parse --is-shallow-repository)" == "true" ]]; then
  remote="$(git remote | head -n 1)"
  if [[ -n "$remote" ]]; then
    printf 'buf breaking: shallow clone, fetching one more commit from %s\n' "$remote"
    git fetch --quiet --deepen=1 "$remote" || true
  fi
  has_commit "$against" || skip "shallow clone without $against (fetch more history to check)"
fi
has_commit "$against" || skip "no commit $against to compare with"

# No `grep -q`: stopping early would kill git with SIGPIPE and fail the pipe.
if [[ -z "$(git ls-tree -r --name-only "$against" -- protos | grep '\.proto$' || true)" ]]; then
  skip "$against has no protos"
fi

baseline="$(mktemp -d)"
trap 'rm -rf "$baseline"' EXIT
git archive "$against" -- protos | tar -x -C "$baseline"
# Both sides are read with today's buf.yaml and vendored imports, so the check
# compares the contracts themselves, not changes to the tooling around them.
cp buf.yaml "$baseline/"
cp -R third_party "$baseline/"

printf 'buf breaking: protos/ against %s (%s)\n' "$against" "$(git rev-parse --short "$against")"
npx --no-install buf breaking --against "$baseline"
printf 'buf breaking: no breaking change\n'
