"""Multi-stage training of the methods that train in stages (MVAN, SPAN, ANet), one file each."""
