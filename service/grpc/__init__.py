"""The gRPC edge: servicers, converters and the one exception → status table."""
