"""What several commands share: connecting to a registry, registering what it lacks, deployment records, rollouts.

A command module imports these, never another command.
"""
