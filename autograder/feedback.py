"""What nbgrader's feedback shows a student for a failing check: its message.

nbgrader puts hidden tests back into autograded notebooks and shows them in
feedback (nbgrader issue #917). `ClearHiddenTests` removes them from the cell
source; this preprocessor then trims each autograder cell's error to its last
line, "AssertionError: <title>: <message>", because the traceback quotes the
hidden test's code.
"""
from __future__ import annotations

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool


class CheckMessagesOnly(Preprocessor):
    enabled = Bool(True)  # nbconvert's default is off; nbgrader registers it as is

    def preprocess_cell(self, cell, resources, index):
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            for output in cell.get("outputs", []):
                if output.output_type == "error":
                    output.traceback = [f"{output.ename}: {output.evalue}"]
        return cell, resources
