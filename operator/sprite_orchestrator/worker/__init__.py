"""What the operator does on a worker machine, written once on the provider Protocol.

`provisioning` makes a machine a worker (repo, setup script, agent config, tmux session),
`delivery` pastes a prompt into the agent exactly once, `polling` observes the agent in one
exec. Everything runs as constant bash scripts shipped in `assets/`, executed with
`bash -c SCRIPT NAME ARGS...`: the arguments are only names this package validated, and user
data (prompts, secrets, the agent's argv, URLs) travels on stdin, never in an argv or a shell
line. All state kept on a machine lives under `~/.sprite-orchestrator/`.
"""
