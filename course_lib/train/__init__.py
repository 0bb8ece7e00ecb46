"""Training, shared by every lesson: one loop family (by epochs or by optimizer steps, with
``batches(epoch)``), one learning-rate schedule, seeding and parameter counting."""
