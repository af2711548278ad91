"""The dashboard's read side: one query per panel, each taking the viewer's scope, each
answering with its rows and how fresh they are. Pure parts (periods, units, KPI definitions)
sit beside the SQL so the web layer only parses, calls and renders."""
