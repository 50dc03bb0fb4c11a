"""The planner's parts: result types, the offline (rule) planner's grammar — time
expressions, event phrases, action phrases — the LLM planner, and plain-words summaries.
`workflows.planner` is the entry point; import from there."""
