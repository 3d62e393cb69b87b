"""What only the demo and the reference deployment serve: the reference feed server and its
hub, the demo county's simulator, the replay server and the MQTT bridge.

The console consumes feeds (``feeds.client``, ``feeds.transports``, ``feeds.adapters``); it
never needs this package except to start the embedded demo. Keeping the two apart means a
change to the demo cannot quietly become a dependency of the consumer side.
"""
