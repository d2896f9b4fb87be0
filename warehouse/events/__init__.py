"""Logs to events (flow 1): which inputs, reading them, and turning each line into an event.

`parse.parse_logs` plans the inputs (`inputs`, `inputread`) and runs one task per input or
byte range (`task`: classify, resolve against the URL dump read by `patterns`, build the
event with `build`), in process or as a map-only mrjob job (`runner`, `parsejob`); `state`
publishes each input's objects only once the input is judged good; `summary` counts.
"""
