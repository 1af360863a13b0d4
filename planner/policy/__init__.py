"""Policy files → validated ``Policy`` models, with file:line:column diagnostics."""
