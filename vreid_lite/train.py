"""``python -m vreid_lite.train NOTEBOOK -p NAME VALUE …``: ``vreid train`` as a module, for
``torchrun --nproc_per_node N -m vreid_lite.train …``."""
import sys

from vreid_lite.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
