"""The synthetic vehicle renderer: procedural 3-D vehicles of VeRi-776's nine types and ten
colours, told apart by small identity marks, seen by 20 camera styles, written in the VeRi-776
layout with viewpoint labels, part masks and mark boxes."""
from vreid_lite.data.synthetic.marks import MARK_KINDS
from vreid_lite.data.synthetic.palette import COLOR_NAMES, TYPE_NAMES
from vreid_lite.data.synthetic.recipe import load_recipe
from vreid_lite.data.synthetic.render import MARKER, ensure_synthetic, render_dataset
from vreid_lite.data.synthetic.viewpoints import view_from_yaw

__all__ = ["COLOR_NAMES", "MARKER", "MARK_KINDS", "TYPE_NAMES", "ensure_synthetic", "load_recipe",
           "render_dataset", "view_from_yaw"]
