"""git, run as a subprocess, for members that work in worktrees of the Director's repository.

`command` runs git; `repository` looks at a work tree (is it one, on which branch, what is
uncommitted); `worktrees` adds and removes worktrees and their branches; `review` compares a
branch with its base (commits, changed files, diffs, overlaps between branches); `merging`
checks a merge without touching any working tree and performs it; `include` copies the files
`.worktreeinclude` names; `setup` runs a new worktree's setup command.

This layer knows git and the file system only: the broker records worktrees, and the layers
above decide what to make, refuse or remove.
"""
