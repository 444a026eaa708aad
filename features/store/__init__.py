"""The Redis boundary: the key layout, the flows of commands the online engine sends, the
sync and async stores that run them, the Lua scripts and the live event log."""
