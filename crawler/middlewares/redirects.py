"""Following redirects so that every page that redirects is archived or recorded, never lost.

Scrapy's RedirectMiddleware hands a redirect back to the scheduler, where two things can drop
it silently: the OffsiteMiddleware (a redirect to another site) and the duplicate filter (a
redirect to a page already asked for, which every redirect loop ends in). The page that
redirected would then be neither archived nor recorded as a failure. This subclass refuses a
redirect to a host outside the spider's ``allowed_domains`` itself, with IgnoreRequest (the
spider's errback records it as ``offsite``, and nothing is ever sent to that host), and lets
the other redirects past the duplicate filter, so that a loop ends at ``REDIRECT_MAX_TIMES``
with "max redirections reached" (recorded as ``redirect``). A ``<meta http-equiv="refresh">``
that sends the page elsewhere is a redirect too, and is guarded alike.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware, RedirectMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request
from scrapy.utils.url import url_is_from_any_domain

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Response


class _Guard:
    """What both guarded middlewares do with the request their parent built."""

    crawler: Crawler

    def _guarded(self, result: Request | Response) -> Request | Response:
        if not isinstance(result, Request):
            return result
        allowed = list(getattr(self.crawler.spider, "allowed_domains", None) or [])
        if allowed and not url_is_from_any_domain(result.url, allowed):
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value("hkarchive/offsite_redirects")
            raise IgnoreRequest(f"Filtered offsite redirect to {result.url!r}")
        # Safe past the OffsiteMiddleware too: the host was checked just above.
        result.dont_filter = True
        return result


class GuardedRedirectMiddleware(_Guard, RedirectMiddleware):
    """RedirectMiddleware that fails offsite redirects and never lets a redirect vanish."""

    def process_response(  # type: ignore[override]
        self, request: Request, response: Response
    ) -> Request | Response:
        return self._guarded(super().process_response(request, response))


class GuardedMetaRefreshMiddleware(_Guard, MetaRefreshMiddleware):
    """MetaRefreshMiddleware that fails a refresh to another site (it used to be followed
    there) and never lets one vanish."""

    def process_response(  # type: ignore[override]
        self, request: Request, response: Response
    ) -> Request | Response:
        return self._guarded(super().process_response(request, response))
