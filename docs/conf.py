"""Sphinx configuration of the linpc documentation.

Build (warnings are errors; nothing is downloaded at build time)::

    python -m sphinx -W -b html docs docs/_build/html

The API pages are generated at build time into ``docs/api/generated/`` (ignored by git): one page
per module by ``_ext/linpc_api.py``, one page per function and class by autosummary.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

from linpc_api import write_api_pages  # noqa: E402

from linpc._version import __version__  # noqa: E402

# -- project -----------------------------------------------------------------------------------
project = "linpc"
author = "the linpc authors"
copyright = "the linpc authors, MIT licence"
version = release = __version__

# -- extensions --------------------------------------------------------------------------------
extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "linpc_api",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
templates_path = ["_templates"]

# MyST: anchors for headings down to ### so that pages can link docs/theory.md sections
myst_heading_anchors = 3

# autodoc / autosummary: every object is documented at its defining module (see _ext/linpc_api.py)
write_api_pages(HERE / "api" / "generated")
autosummary_generate = True
autosummary_generate_overwrite = True
autosummary_imported_members = False
autodoc_member_order = "bysource"
autodoc_typehints = "none"            # the numpydoc sections state the types
autodoc_class_signature = "mixed"
autodoc_preserve_defaults = True
add_module_names = False

# numpydoc: parses the docstrings' sections; it also makes each docstring's reference labels
# ([1], [P1]) unique and referenced, so that a References section needs no citation in the text
numpydoc_show_class_members = False    # methods and properties come from autodoc's :members:
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False
numpydoc_validation_checks: set[str] = set()

# -- HTML --------------------------------------------------------------------------------------
html_theme = "alabaster"
html_title = f"linpc {release}"
html_static_path = ["_static"]
html_theme_options = {
    "description": "Exact theory of deep linear predictive coding networks",
    "page_width": "1180px",
    "sidebar_width": "240px",
    "fixed_sidebar": False,
}
html_sidebars = {"**": ["about.html", "navigation.html", "relations.html", "searchbox.html"]}
