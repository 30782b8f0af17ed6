"""The command line and the demo county it builds (services/cli/)."""
