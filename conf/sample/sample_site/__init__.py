"""URLconf of the personal website behind the bundled sample log (conf/sample/access-combined-10k.log.gz).

Regenerate conf/sample/urls.json after editing:

    warehouse urls dump --urlconf sample_site.urls --pythonpath conf/sample -o conf/sample/urls.json
"""
