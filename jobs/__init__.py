"""Background work: RQ queues, the app-context wrapper, and the jobs themselves."""
