"""Per-user PBX sessions: one MX connection per user, shared by all that user's tokens and
devices, kept alive across drops and restarts until the user logs out."""
