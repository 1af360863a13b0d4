"""Pure renderers: plan documents (text, json, markdown, mermaid/dot) and reports."""
