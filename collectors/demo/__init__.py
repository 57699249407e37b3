"""The embedded demo world: a whole AWS Organization and Datadog on 127.0.0.1.

Only the command line, the tests and the benchmarks import this package; the
rest of ``collectors`` reaches the demo world through the endpoints it is
given, exactly as it reaches AWS.
"""
