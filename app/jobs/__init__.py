"""Background work: timers now, other job kinds (outbox) plug in as handlers."""
