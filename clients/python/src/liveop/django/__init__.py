"""Liveop in Django: add ``"liveop.django"`` to ``INSTALLED_APPS``.

Settings: ``LIVEOP_URL`` (the server, as this site's processes reach it),
``LIVEOP_API_KEY``, and ``LIVEOP_PUBLIC_URL`` (the server as browsers reach
it; ``LIVEOP_URL`` by default). Then, in templates::

    {% load liveop %}
    {% live_operation started %}     {# the element, and its script once per page #}
    {% live_operation_list %}        {# the signed-in user's own operations #}

and in views ``liveop.django.shortcuts.start_operation(request, task, ...)``,
which queues a Celery task with a session for ``request.user`` and redirects
to its page. Include ``liveop.django.urls`` for that page and the list's feed.
"""
