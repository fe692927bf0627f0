"""The pure core: naming, allocation, pool planning, the task state machine, prompts.

Everything in this package is purely computational: no I/O, no clocks (time is passed in),
no kopf, no provider SDK. It is tested exhaustively and is safe to call from anywhere.
"""
