"""Process definitions and instances as commands (one transaction each) and read views."""
