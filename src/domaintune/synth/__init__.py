"""Instruction data from a teacher model, labelled datasets and FAQ pages (`data synth`)."""
