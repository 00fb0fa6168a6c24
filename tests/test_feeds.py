"""Feeds of every flavour (RSS 2.0, RSS 1.0, Atom): items with relative links, without titles,
with updated dates only. Before feedparser read them, an Atom feed gave no item and no error,
and an untitled item was dropped."""

from __future__ import annotations

from crawler.extract import ExtractionError
from crawler.extract.parts import first_words
from crawler.extract.wordpress import articles_from_feed, looks_like_feed
from crawler.sources.config import load_sources
from newsarchive.model import Article

CPII = load_sources()["cpii"]
FEED_URL = "https://www.cpii.hk/news/feed.atom"
BODY = (
    "<p>" + "The centre announced a new research programme with its partners today. " * 4 + "</p>"
)

ATOM = f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>CPII news</title>
  <link href="https://www.cpii.hk/"/>
  <updated>2024-05-10T08:00:00Z</updated>
  <entry>
    <title>New programme launched</title>
    <link href="/2024/05/10/new-programme/"/>
    <id>tag:cpii.hk,2024:1</id>
    <published>2024-05-10T02:30:00Z</published>
    <updated>2024-05-11T02:30:00Z</updated>
    <category term="News"/>
    <content type="html"><![CDATA[{BODY}]]></content>
  </entry>
  <entry>
    <title></title>
    <link href="https://www.cpii.hk/2024/05/09/untitled/"/>
    <id>tag:cpii.hk,2024:2</id>
    <updated>2024-05-09T01:00:00Z</updated>
    <summary type="html"><![CDATA[{BODY}]]></summary>
  </entry>
</feed>"""

RSS1 = f"""<?xml version="1.0" encoding="utf-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
  xmlns:dc="http://purl.org/dc/elements/1.1/"
  xmlns:content="http://purl.org/rss/1.0/modules/content/">
  <channel rdf:about="https://www.cpii.hk/feed.rdf"><title>CPII</title></channel>
  <item rdf:about="https://www.cpii.hk/2024/05/08/rdf-item/">
    <title>An RSS 1.0 item</title>
    <link>https://www.cpii.hk/2024/05/08/rdf-item/</link>
    <dc:date>2024-05-08T09:15:00+08:00</dc:date>
    <content:encoded><![CDATA[{BODY}]]></content:encoded>
  </item>
</rdf:RDF>"""


def articles(text: str, url: str = FEED_URL) -> list[Article]:
    found = list(articles_from_feed(text, CPII, url))
    assert not [e for e in found if isinstance(e, ExtractionError)], found
    return [a for a in found if isinstance(a, Article)]


def test_an_atom_feed_gives_its_entries_with_links_resolved_against_the_feed() -> None:
    first, second = articles(ATOM)
    assert first.url == "https://www.cpii.hk/2024/05/10/new-programme/"
    assert first.title == "New programme launched"
    assert first.published_at == "2024-05-10T10:30:00+08:00"  # published, not updated
    assert first.category == "News"
    assert "new research programme" in first.body_text
    assert first.extraction["published_at"] == "atom:published"
    assert first.extraction["body"] == "atom:content"
    # Untitled, with an updated date only: kept, titled by its first words.
    assert second.title == "The centre announced a new research programme with its partners today."
    assert second.extraction["title"] == "first-words"
    assert second.published_at == "2024-05-09T09:00:00+08:00"
    assert second.extraction["published_at"] == "atom:updated"


def test_an_rss_1_0_feed_gives_its_items() -> None:
    [item] = articles(RSS1, "https://www.cpii.hk/feed.rdf")
    assert item.title == "An RSS 1.0 item"
    assert item.published_at == "2024-05-08T09:15:00+08:00"
    assert item.extraction["body"] == "rss:content"


def test_a_feed_is_told_from_a_page_served_in_its_place() -> None:
    assert looks_like_feed(ATOM) and looks_like_feed(RSS1)
    assert not looks_like_feed("<!doctype html><html><body>Not found</body></html>")


def test_an_untitled_item_is_titled_by_its_first_sentence_cut_near_80_characters() -> None:
    assert first_words("Short one. Then more.") == "Short one."
    long = "word " * 40
    assert first_words(long).endswith("…") and len(first_words(long)) <= 81
    assert (
        first_words("創新香港研發平台啟動典禮圓滿舉行。其後")
        == "創新香港研發平台啟動典禮圓滿舉行。"
    )
