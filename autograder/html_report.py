"""Feedback pages: one self-contained HTML page a student can open anywhere, a phone
included. Styles are inline and pictures are data: URIs, so the file needs nothing beside
it; there is no script, so it shows the same in every browser and mail client. A hidden
check shows its title and points only: its message and pictures would tell what it tests.
"""
from __future__ import annotations

from pathlib import Path

from jinja2 import Environment

from autograder.grading import AssignmentReport
from autograder.outcome import ERROR, FAILED, PASSED, SKIPPED

_STATUS = {PASSED: "passed", FAILED: "failed", ERROR: "grader error", SKIPPED: "skipped"}

_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ heading }}</title>
<style>
  body { font-family: system-ui, sans-serif; line-height: 1.45; color: #1b1b1b;
         max-width: 48rem; margin: 0 auto; padding: 1rem; }
  h1 { font-size: 1.4rem; margin: 0 0 .5rem; }
  h2 { font-size: 1.2rem; margin: 2rem 0 .25rem; }
  h3 { font-size: 1rem; margin: 0; }
  .meta, .name { color: #555; font-size: .85rem; }
  .score { font-size: 1.1rem; font-weight: bold; }
  .note { background: #fff6d6; border-left: 4px solid #d9a400; padding: .4rem .6rem;
          margin: .4rem 0; }
  .check { border-left: 4px solid #c62828; padding: .5rem .75rem; margin: .75rem 0;
           background: #fafafa; }
  .check.passed { border-color: #2e7d32; }
  .check.skipped { border-color: #d9a400; }
  .check.error { border-color: #7b1fa2; }
  .check.hidden { border-color: #888; }
  .points { float: right; font-weight: bold; margin-left: .5rem; }
  .status { font-size: .85rem; text-transform: uppercase; letter-spacing: .03em; }
  p.message { white-space: pre-wrap; margin: .4rem 0 0; }
  * { overflow-wrap: anywhere; }
  figure { margin: .75rem 0 0; }
  img { max-width: 100%; height: auto; display: block; }
  figcaption { font-size: .85rem; color: #555; }
</style>
</head>
<body>
<h1>{{ heading }}</h1>
{% for report in reports %}
<section>
  <h2>{{ report.assignment }}</h2>
  <p class="score">{{ "%g" | format(report.score) }} / {{ "%g" | format(report.max_score) }}
    points</p>
  <p class="meta">{{ report.submission | file_name if report.submission
    else "no submission found" }}</p>
  {% for problem in report.problems %}
  <p class="note">while loading: {{ problem }}</p>
  {% endfor %}
  {% if not report.sandboxed %}<p class="note">isolation: {{ report.isolation }}</p>{% endif %}
  {% for r in report.results %}
  {% if r.hidden %}
  <div class="check hidden">
    <span class="points">{{ "%g" | format(r.points) }}/{{ "%g" | format(r.max_points) }}</span>
    <h3>{{ r.title }}</h3>
    <span class="status">hidden check</span>
  </div>
  {% else %}
  <div class="check {{ r.status }}">
    <span class="points">{{ "%g" | format(r.points) }}/{{ "%g" | format(r.max_points) }}</span>
    <h3>{{ r.title }}</h3>
    <span class="status">{{ status.get(r.status, r.status) }}</span>
    <span class="name">{{ r.name }}</span>
    {% if r.message %}<p class="message">{{ r.message }}</p>{% endif %}
    {% for figure in r.figures %}
    <figure>
      <img src="data:image/png;base64,{{ figure.png_base64 }}" alt="{{ figure.title }}">
      <figcaption>{{ figure.title }}</figcaption>
    </figure>
    {% endfor %}
  </div>
  {% endif %}
  {% endfor %}
</section>
{% endfor %}
</body>
</html>
"""

_ENVIRONMENT = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
_ENVIRONMENT.filters["file_name"] = lambda path: Path(path).name  # not the grader's folders
_PAGE = _ENVIRONMENT.from_string(_TEMPLATE)


def page(reports: list[AssignmentReport], student: str | None = None) -> str:
    """One page holding each report's section: score, every check, the pictures."""
    names = ", ".join(r.assignment for r in reports)
    heading = f"{student}: {names}" if student else f"Feedback: {names}"
    return _PAGE.render(reports=reports, heading=heading, status=_STATUS)
