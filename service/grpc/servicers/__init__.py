"""One thin servicer per gRPC service: convert, call the application, convert back."""
