"""The application's background jobs."""
