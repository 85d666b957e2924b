"""Generated from the protocol's .proto files (see README.md here); do not edit."""
