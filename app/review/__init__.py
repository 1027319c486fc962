"""Qt views of recorded sessions: the trainer's review window and the session library."""
