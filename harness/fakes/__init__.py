"""Local fakes of the cloud speech services, speaking their real wire protocols on 127.0.0.1.

Each fake runs an aiohttp server in its own thread and event loop, so it serves the agent worker (another
process), sync tests and async tests alike. Faults are switched per fake at run time (`fake.fault = ...`).
"""
