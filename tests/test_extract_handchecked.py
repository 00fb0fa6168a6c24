"""Extraction checked by hand: for one page of each kind, every field, as read in its HTML.

The golden files (tests/test_golden.py) are written by the extractors themselves, so a
regeneration after a change would take any bug of that change in with it. The values here
were read from the fixtures' bytes and written out, not generated: they change only by hand.
The hashes are recomputed here from those values, as pipelines/normalize.py defines them.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import asdict
from typing import Any

from crawler.extract.generic import extract_detail
from crawler.extract.govhk import extract_release, feed_release_links, release_links
from crawler.extract.listing import detail_links, next_page
from crawler.extract.wordpress import article_from_api, articles_from_feed
from crawler.sources.config import load_sources
from newsarchive.model import Article
from pipelines.normalize import normalize_article
from tests.conftest import Fixture, load_fixtures

PAGES = {f.name: f for f in load_fixtures()}
SOURCES = load_sources()
MEDIA_FIELDS = ("local_path", "checksum", "file_size")


# --- How an expected item is written down -------------------------------------------------------


def photo(
    url: str,
    caption: str = "",
    thumbnail_url: str | None = None,
    name: str | None = None,
    size_label: str | None = None,
    size_bytes: int | None = None,
) -> dict[str, Any]:
    """A photo as stored (nothing downloaded)."""
    return {
        "url": url, "thumbnail_url": thumbnail_url, "caption": caption, "name": name,
        "size_label": size_label, "size_bytes": size_bytes,
        "local_path": None, "checksum": None, "file_size": None,
    }  # fmt: skip


def attachment(url: str, title: str) -> dict[str, Any]:
    return {"url": url, "title": title, "local_path": None, "checksum": None, "file_size": None}


def item(**fields: Any) -> dict[str, Any]:
    """An item with every stored field: the ones given, empty media by default, no validators,
    and both hashes computed from the given values."""
    full: dict[str, Any] = {
        "photos": [], "attachments": [], "videos": [], "related": [], "category": None,
        "etag": None, "last_modified": None, **fields,
    }  # fmt: skip
    full["content_hash"] = reader_hash(full)
    full["body_hash"] = layout_free_hash(full["body_text"])
    return full


def reader_hash(values: dict[str, Any]) -> str:
    """SHA-256 of what a reader sees: title, date, body, category and media, each media entry
    without its empty fields and without where a file was downloaded to."""

    def present(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            {k: v for k, v in e.items() if v not in (None, "") and k not in MEDIA_FIELDS}
            for e in entries
        ]

    content = {
        "title": values["title"],
        "published_at": values["published_at"],
        "body_text": values["body_text"],
        "category": values["category"],
        "photos": present(values["photos"]),
        "attachments": present(values["attachments"]),
        "videos": present(values["videos"]),
    }
    text = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def layout_free_hash(body_text: str) -> str:
    """SHA-256 of the body case-folded, without any whitespace."""
    folded = "".join(unicodedata.normalize("NFKC", body_text).casefold().split())
    return hashlib.sha256(folded.encode()).hexdigest()


def stored(article: Article) -> dict[str, Any]:
    return asdict(normalize_article(article))


def assert_item(
    actual: dict[str, Any], expected: dict[str, Any], *, html_shape: bool = False
) -> None:
    """Every field equal; with html_shape, body HTML compared without the layout whitespace
    between tags (what a library's serialiser is free to choose)."""
    assert sorted(actual) == sorted(expected), "fields differ"
    for field, value in expected.items():
        got = actual[field]
        if field == "body_html" and html_shape:
            got, value = shape(got), shape(value)
        assert got == value, f"field {field!r}"


def shape(html: str) -> str:
    return re.sub(r">\s+<", "><", re.sub(r"[ \t\r\n]+", " ", html)).strip()


def page(name: str) -> Fixture:
    return PAGES[name]


# --- GovHK: an English release (real page) ------------------------------------------------------

MERS_NEGATIVE = (
    "The Centre for Health Protection of the Department of Health today (January 7) reported "
    "that the suspected case of Middle East Respiratory Syndrome (MERS) pending results "
    "yesterday (January 6), upon preliminary testing, tested negative for MERS Coronavirus."
)


def test_govhk_english_release() -> None:
    actual = stored(extract_release(page("govhk/P2020010700619").response()))
    assert_item(
        actual,
        item(
            source="govhk",
            native_id="P2020010700619",
            url="https://www.info.gov.hk/gia/general/202001/07/P2020010700619.htm",
            lang="en",
            title="Suspected case tests negative for MERS-CoV",
            # "Ends/Tuesday, January 7, 2020" and "Issued at HKT 18:42"
            published_at="2020-01-07T18:42:00+08:00",
            body_text=MERS_NEGATIVE,
            # The span's text up to the footer, without the right-column placeholder, the
            # footer and the NNNN mark; the indentation and the spacer div are the page's.
            body_html=(
                f"&nbsp; &nbsp; &nbsp;{MERS_NEGATIVE}\n\t\t\t\t<br>\n\t\t\t\t\n\t\t\t\t\n"
                "\t\t\t\t<div>&nbsp;</div>"
            ),
            related=[
                {
                    "url": "https://www.info.gov.hk/gia/general/202001/06/P2020010600666.htm",
                    "title": "Suspected MERS case reported",
                }
            ],
            extraction={
                "title": "selector:#PRHeadlineSpan",
                "body": "selector:#pressrelease",
                "published_at": "footer",
                "lang": "footer",
            },
        ),
    )


def test_govhk_release_media_in_the_right_column() -> None:
    actual = stored(extract_release(page("govhk/P2019040900615").response()))
    gia = "http://gia.info.gov.hk/general/201904/09/P2019040900615"
    assert actual["photos"] == [
        photo(
            f"{gia}_photo_1153901.jpg",
            "The Chief Executive, Mrs Carrie Lam, this morning (April 9) delivers a keynote "
            "speech at the Symposium on the Guangdong-Hong Kong-Macao Greater Bay Area jointly "
            "organised by the governments of Guangdong, Hong Kong and Macao in Tokyo, Japan.",
            thumbnail_url=f"{gia}_photo_1153901t.jpg",
        ),
        photo(
            f"{gia}_photo_1153902.jpg",
            "The Chief Executive, Mrs Carrie Lam, this morning (April 9) attended the Symposium "
            "on the Guangdong-Hong Kong-Macao Greater Bay Area jointly organised by the "
            "governments of Guangdong, Hong Kong and Macao in Tokyo, Japan. Photo shows (from "
            "third left) the Chinese Ambassador to Japan, Mr Cheng Yonghua; the Governor of "
            "Guangdong Province, Mr Ma Xingrui; Mrs Lam; the Secretary for Administration and "
            "Justice of the Macao Special Administrative Region Government, Ms Sonia Chan; the "
            "State Minister of Economy, Trade and Industry of Japan, Mr Yoshihiro Seki; and "
            "other guests.",
            thumbnail_url=f"{gia}_photo_1153902t.jpg",
        ),
    ]
    # Each PDF is linked twice (thumbnail, then title): once each, with the title's text.
    assert actual["attachments"] == [
        attachment(
            f"{gia}_308018_1_1554798166207.pdf",
            "Hong Kong's Role in the Guangdong-Hong Kong-Macao Greater Bay Area",
        ),
        attachment(f"{gia}_308016_1_1554798166463.pdf", "香港在粵港澳大灣區的角色"),
        attachment(f"{gia}_308017_1_1554798166697.pdf", "広東・香港・澳門大湾区における香港の役割"),
    ]
    assert actual["videos"] == [
        {
            "url": "https://isd.wecast.hk/vod/?id=9489",
            "title": "CE attends Symposium on the Guangdong-Hong Kong-Macao Greater Bay Area in "
            "Tokyo",
        }
    ]
    assert actual["related"] == []


# --- GovHK: a Chinese release (in the real template) --------------------------------------------

CE_SPEECH_ZH = (
    "以下是行政長官林鄭月娥今日（十二月十一日）在「香港特區政府慶祝國家改革開放40周年『同心創前路 "
    "掌握新機遇』展覽」開幕典禮致辭的中文譯本：",
    "各位總領事、各位嘉賓、各位女士、各位先生：",
    "歡迎各位蒞臨這個慶祝國家改革開放40周年的展覽。展覽突顯香港在國家奇蹟般的轉變中，既是推動者，"
    "也是受惠者的獨特地位。",
    "40年前，香港具開拓精神的商界，包括本地和國際企業家，率先把資金、專業知識和理念帶到內地投資，"
    "在此過程中成功拓展自身業務，並促成香港轉型為服務型經濟。",
    "今天，香港的環球視野和國際聯繫，將為內地企業提供門戶，讓它們在邁向下一個發展階段時探索世界各地"
    "的機遇。",
    "這個展覽追溯國家和香港走過的非凡歷程。這是一段探索與合作的歷程，不僅涵蓋商業和金融，亦涉及文化、"
    "體育等眾多範疇。",
    "作為「一國兩制」下中華人民共和國的一個特別行政區，我們會繼續鞏固香港作為國家首要國際商業和金融"
    "樞紐的優勢，並把握粵港澳大灣區和「一帶一路」倡議等新機遇。憑藉外向型的傳統和國際化的文化，香港"
    "會繼續發揮聯繫世界的作用，追求卓越，在國家深化改革開放的過程中把握眾多機遇。",
    "各位女士、各位先生，周年紀念既要回顧過去，亦要展望未來。我深信只要我們同心協力，香港最好的日子"
    "尚在前頭。祝願大家參觀愉快。",
    "多謝各位。",
)


def test_govhk_chinese_release() -> None:
    actual = stored(extract_release(page("govhk/P2018121100806").response()))
    title = "行政長官在香港特區政府慶祝國家改革開放40周年「同心創前路 掌握新機遇」展覽致辭"
    first, salutation, *indented, thanks = CE_SPEECH_ZH
    blank = "<br>\n&nbsp;<br>\n"
    # Paragraphs after the salutation open with two ideographic spaces; one line ends in a
    # no-break space.
    middle = blank.join(f"\u3000\u3000{p}" for p in indented).replace("愉快。", "愉快。&nbsp;")
    photo_url = "http://gia.info.gov.hk/general/201812/11/P2018121100814_photo_{}.jpg"
    thumb_url = "http://gia.info.gov.hk/general/201812/11/P2018121100814_photo_{}t.jpg"
    assert_item(
        actual,
        item(
            source="govhk",
            native_id="P2018121100806",
            url="https://www.info.gov.hk/gia/general/201812/11/P2018121100806.htm",
            lang="zh",
            title=title,
            # 完 / 2018年12月11日（星期二） / 香港時間19時45分
            published_at="2018-12-11T19:45:00+08:00",
            body_text="\n\n".join(CE_SPEECH_ZH),
            body_html=(
                f"{first}{blank}{salutation}{blank}{middle}{blank}\u3000\u3000{thanks}"
                "\n\t\t\t\t<br>\n\t\t\t\t\n\t\t\t\t<div>&nbsp;</div>"
            ),
            # The photos are the English release's (P2018121100814): twins share them.
            photos=[
                photo(
                    photo_url.format(1147532),
                    "行政長官林鄭月娥今日（十二月十一日）在「香港特區政府慶祝國家改革開放40周年『同心"
                    "創前路 掌握新機遇』展覽」開幕典禮上致辭。",
                    thumbnail_url=thumb_url.format(1147532),
                ),
                photo(
                    photo_url.format(1147533),
                    "行政長官林鄭月娥今日（十二月十一日）出席「香港特區政府慶祝"
                    "國家改革開放40周年『同心創前路 掌握新機遇』展覽」開幕典禮。"
                    "圖示（左二起）中華人民共和國外交部駐香港特別行政區（香港特區）"
                    "特派員公署特派員謝鋒、林鄭月娥、中央人民政府駐香港特區聯絡辦公室"
                    "主任王志民、中國人民解放軍駐香港部隊副政治委員陳亞丁和政務司司長"
                    "張建宗，在新聞處處長朱曼鈴（左一）陪同下主持典禮。",
                    thumbnail_url=thumb_url.format(1147533),
                ),
            ],
            # The link ends in an encoded space ("?id=9086%20"), which is dropped.
            videos=[
                {
                    "url": "https://isd.wecast.hk/vod/?id=9086",
                    "title": "行政長官出席「香港特區政府慶祝國家改革開放40周年"
                    "『同心創前路 掌握新機遇』展覽」開幕典禮",
                }
            ],
            extraction={
                "title": "selector:#PRHeadlineSpan",
                "body": "selector:#pressrelease",
                "published_at": "footer",
                "lang": "footer",
            },
        ),
    )


# --- GovHK: daily index pages and feeds ---------------------------------------------------------


def refs(found: Any) -> list[tuple[str, str, str]]:
    return [(r.native_id, r.folder.isoformat(), r.url) for r in found]


def test_govhk_english_index_page() -> None:
    # Three releases linked as an absolute http URL (with a print link beside it), a
    # site-relative path, and a path relative to the page (with an A+ link beside it).
    found = refs(release_links(page("govhk/index-20191231-en").response()))
    folder = "https://www.info.gov.hk/gia/general/201912/31"
    assert found == [
        ("P2019123100667", "2019-12-31", f"{folder}/P2019123100667.htm"),
        ("P2019123100711", "2019-12-31", f"{folder}/P2019123100711.htm"),
        ("P2019123100709", "2019-12-31", f"{folder}/P2019123100709.htm"),
    ]


def test_govhk_chinese_index_page() -> None:
    # One release, linked again with ?fontSize=1 by its A+ link.
    found = refs(release_links(page("govhk/index-20200107-zh").response()))
    assert found == [
        (
            "P2020010700614",
            "2020-01-07",
            "https://www.info.gov.hk/gia/general/202001/07/P2020010700614.htm",
        )
    ]


def test_govhk_feeds() -> None:
    english, chinese = page("govhk/rss-en"), page("govhk/rss-zh")
    assert refs(feed_release_links(english.response().text, english.meta["url"])) == [
        (
            "P2022052500588",
            "2022-05-25",
            "https://www.info.gov.hk/gia/general/202205/25/P2022052500588.htm",
        ),
        (
            "P2022062100598",
            "2022-06-21",
            "https://www.info.gov.hk/gia/general/202206/21/P2022062100598.htm",
        ),
    ]
    assert refs(feed_release_links(chinese.response().text, chinese.meta["url"])) == [
        (
            "P2022052500584",
            "2022-05-25",
            "https://www.info.gov.hk/gia/general/202205/25/P2022052500584.htm",
        )
    ]


# --- CAiRS: detail and listing pages ------------------------------------------------------------

HKSTP_CAIRS = (
    "(Hong Kong, 28 September2023) – Hong Kong Science and Technology Parks Corporation "
    "(HKSTP) signed a partnership agreement with the Centre for Advances in Reliability and "
    "Safety (CAiRS), an InnoHK Centre established by The Hong Kong Polytechnic University "
    "(PolyU) and The University of Maryland, College Park from USA, to provide vital testing "
    "and pilot-at-scale capabilities to microelectronics (micro-e) and advanced manufacturing "
    "startups."
)


def test_cairs_detail_page() -> None:
    actual = stored(extract_detail(page("cairs/news-detail-63").response(), SOURCES["cairs"]))
    assert_item(
        actual,
        item(
            source="cairs",
            native_id="en/63",
            url="https://www.cairs.hk/en/news_detail/index/63",
            lang="en",
            title="[Press Release] HKSTP and CAiRS to Propel New Industrialisation by "
            "Accelerating Development of Microelectronics and Advanced Manufacturing Startups",
            published_at="2023-09-28",  # "2023-09-28 | News": a day, no time
            body_text=HKSTP_CAIRS,
            body_html=f"<p>{HKSTP_CAIRS}</p>",
            category="News",
            extraction={
                "title": "selector",
                "published_at": "selector",
                "body": "selector",
                "images": "none",
                "category": "date-line",
                "lang": "path",
            },
        ),
    )


def test_cairs_images_listed_as_links_with_their_sizes() -> None:
    actual = stored(extract_detail(page("cairs/news-detail-36").response(), SOURCES["cairs"]))
    uploads = "https://www.cairs.hk/uploads/news/36"
    mib = 1024 * 1024  # sizes on web pages are binary: "4.09 MB" is 4.09 MiB

    def listed(name: str, label: str) -> dict[str, Any]:
        size = round(float(label.split()[0]) * mib)
        return photo(f"{uploads}/{name}", name=name, size_label=label, size_bytes=size)

    assert actual["photos"] == [
        listed("4.jpg", "4.09 MB"),
        listed("5.jpg", "12.62 MB"),
        listed("6.jpg", "3.87 MB"),
        listed("11.jpg", "13.12 MB"),
    ]
    assert actual["photos"][0]["size_bytes"] == 4288676
    assert actual["title"] == "InnoHK Launch Ceremony concludes with great success"
    assert (actual["published_at"], actual["category"]) == ("2022-05-25", "News")
    paragraphs = actual["body_text"].split("\n\n")
    assert len(paragraphs) == 7, "the image lines are not body text"
    assert paragraphs[0].startswith("The InnoHK Launch Ceremony was successfully held today")
    assert paragraphs[-1] == (
        "For further details about the 28 research laboratories admitted to InnoHK, please "
        "visit the newly launched official website ("
    )


def test_cairs_listing_page() -> None:
    fixture = page("cairs/news")
    response, config = fixture.response(), SOURCES["cairs"]
    detail = "https://www.cairs.hk/en/news_detail/index"
    # Each item links twice (image, title); 63 by a path relative to /en/news.
    assert [(url, d and d.isoformat()) for url, d in detail_links(response, config)] == [
        (f"{detail}/74", "2024-06-12"),
        (f"{detail}/71", "2024-04-23"),
        (f"{detail}/63", "2023-09-28"),
        (f"{detail}/62", "2023-09-27"),
    ]
    assert next_page(response, config) == "https://www.cairs.hk/en/news?page=2"
    last = page("cairs/news-page2").response()
    assert [(u, d and d.isoformat()) for u, d in detail_links(last, config)] == [
        (f"{detail}/36", "2022-05-25")
    ]
    assert next_page(last, config) is None


# --- CPII (WordPress): the post page, the REST API, the feed, the category page ----------------

INNOHK_CPII = (
    "The InnoHK Launch Ceremony was successfully held on May 25, marking a new milestone in the "
    "Hong Kong Special Administrative Region (HKSAR) Government’s commitment to promoting Hong "
    "Kong’s innovation and technology (I&T). As the flagship I&T initiative of the HKSAR "
    "Government, InnoHK aims to promote global research collaboration with a view to putting "
    "Hong Kong on the global advanced technology map. Addressing the Launch Ceremony, the Chief "
    "Executive, Mrs Carrie Lam, showed her strong faith in the long-term development of Hong "
    "Kong’s I&T industry, given that Hong Kong is endowed with a series of unparalleled "
    "advantages. Coupled with the unequivocal support for Hong Kong to develop into an "
    "international I&T hub as highlighted in the National 14th Five-Year Plan last year as "
    "well as the immense opportunities brought about by the development of the "
    "Guangdong-Hong Kong-Macao Greater Bay Area, there will be a promising path for the "
    "development of I&T in Hong Kong. She said that these 28 research laboratories will not "
    "only translate their impactful research into applications that bring good for humankind "
    "but also attract and nurture more research talents, thereby developing Hong Kong into the "
    "hub for global research collaboration.",
    "The InnoHK Launch Ceremony was attended physically by more than 300 top-notch researchers "
    "of the 28 research laboratories and I&T industry leaders, as well as virtually by hundreds "
    "of researchers from the research clusters. Being one of the 28 research laboratories, "
    "CPII attended the ceremony together with the representatives from The Chinese University "
    "of Hong Kong (CUHK). Centre Director Professor Helen Meng, centre Principal "
    "Investigators, researchers and staffs met with officials and representatives from other "
    "ICs to celebrate this milestone. Promoting research and development is a crucial part of "
    "I&T development. To this end, the Government has allocated $10 billion to this flagship "
    "I&T initiative. Leveraging on Hong Kong’s clear advantages in research capability, two "
    "research clusters have been set up at the Hong Kong Science Park, namely Health@InnoHK, "
    "focusing on healthcare technologies, and AIR@InnoHK, focusing on artificial intelligence "
    "and robotics technologies. InnoHK is committed to bringing together leading researchers "
    "from around the world to conduct world-class and impactful collaborative research with "
    "local universities and research institutions. Since its inception, the InnoHK initiative "
    "spearheaded by the Innovation and Technology Commission has received an overwhelming "
    "response from many world-renowned universities and research institutions. After a "
    "rigorous selection and assessment process, 28 research laboratories have been admitted, "
    "involving seven local universities and research institutions as well as over 30 "
    "institutions from 11 economies, and pooling around 2 000 researchers locally and from all "
    "over the world. In addition to fostering more collaboration among top local, Mainland and "
    "overseas researchers as well as industry, InnoHK provides an excellent platform for "
    "training and building up a pool of talents in Hong Kong. InnoHK also enables different "
    "parties to share their research outcomes and further collaborate with each other in order "
    "to achieve synergy and translate research outcomes into applications. All this will bring "
    "substantial benefits to society. Health@InnoHK will help promote the development of "
    "global healthcare technologies in response to the emerging challenges in society, such as "
    "an ageing population and epidemic outbreaks, whereas AIR@InnoHK will help enhance "
    "efficiency in the fields of finance, healthcare, construction, logistics and advanced "
    "manufacturing, with a view to building a smart city for the future.",
    "More information can be found on the following website:",
    "Source: Press Release, GovHK (25 May 2022)",
)
CPII_POST = "https://www.cpii.hk/2022/06/02/innohk-launch-ceremony/"
CPII_UPLOADS = "https://www.cpii.hk/wp-content/uploads/2022/06"
# The post's figure: a link to the InnoHK site around the large copy of the photo.
CPII_FIGURE_IMG = (
    f'src="{CPII_UPLOADS}/InnoHK-Launch-Ceremony-1024x683.jpg" alt="InnoHK Launch Ceremony"'
)


def cpii_item(**fields: Any) -> dict[str, Any]:
    """The InnoHK post as every CPII route gives it: what differs is passed in."""
    return item(
        source="cpii",
        native_id="2022/06/02/innohk-launch-ceremony",
        url=CPII_POST,
        lang="en",
        title="InnoHK Launch Ceremony Concludes with Great Success",
        # datePublished 2022-06-02T15:30:12+08:00 (07:30:12 GMT), to the minute
        published_at="2022-06-02T15:30:00+08:00",
        body_text="\n\n".join(INNOHK_CPII),
        category="News",
        **fields,
    )


def api_html(first: str) -> str:
    """The post's content as WordPress renders it, sanitised (the figure's own attributes
    and the srcset dropped); first is how the first paragraph's double space comes out."""
    text = [p.replace("&", "&amp;") for p in INNOHK_CPII]
    return (
        f"<p>{first.replace('&', '&amp;')}</p><p>{text[1]}</p><p>{text[2]}</p>"
        '<figure><a href="https://www.innohk.gov.hk/"><img width="1024" height="683" '
        f"{CPII_FIGURE_IMG}></a></figure>"
        "<p>Source:&nbsp;Press Release, GovHK&nbsp;(25 May 2022)</p>"
    )


def test_cpii_post_page() -> None:
    fixture = page("cpii/innohk-launch-ceremony")
    actual = stored(extract_detail(fixture.response(), SOURCES["cpii"]))
    text = [p.replace("&", "&amp;") for p in INNOHK_CPII]
    assert_item(
        actual,
        cpii_item(
            body_html="".join(f"<p>{p}</p>" for p in text[:3])
            + f"<img {CPII_FIGURE_IMG}>"
            + f"<p>{text[3]}</p>",
            # The full-size file of the srcset, captioned by its alt text: the post's featured
            # image (img.wp-post-image), which its body shows again.
            photos=[photo(f"{CPII_UPLOADS}/InnoHK-Launch-Ceremony.jpg", "InnoHK Launch Ceremony")],
            extraction={
                "title": "h1",
                "published_at": "time",
                "body": "trafilatura",
                "images": "featured",
                "category": "json-ld:articleSection",
                "lang": "html-lang",
            },
        ),
        html_shape=True,
    )


def test_cpii_rest_api_post() -> None:
    posts = json.loads(page("cpii/api-posts-page1").body)
    assert [post["id"] for post in posts] == [3120, 2844, 2690, 2371, 1843]
    [post] = [post for post in posts if post["id"] == 1843]
    actual = stored(article_from_api(post, SOURCES["cpii"]))
    first = INNOHK_CPII[0].replace("map. Addressing", "map.  Addressing")
    assert_item(
        actual,
        cpii_item(
            body_html=api_html(first),
            # The featured media: its full size and alt text.
            photos=[photo(f"{CPII_UPLOADS}/InnoHK-Launch-Ceremony.jpg", "InnoHK Launch Ceremony")],
            extraction={
                "title": "wp-api",
                "published_at": "wp-api:date_gmt",
                "body": "wp-api",
                "images": "wp-api",
                "category": "wp-api",
                "lang": "config",
            },
        ),
        html_shape=True,
    )


def test_cpii_feed_item() -> None:
    entries = list(articles_from_feed(page("cpii/feed").response().text, SOURCES["cpii"]))
    assert len(entries) == 5
    [entry] = [e for e in entries if isinstance(e, Article) and e.url == CPII_POST]
    first = INNOHK_CPII[0].replace("map. Addressing", "map.  Addressing")
    assert_item(
        stored(entry),
        cpii_item(
            body_html=api_html(first),
            # The feed has no featured image: the figure's, full size from its srcset, with
            # the shown copy as thumbnail.
            photos=[
                photo(
                    f"{CPII_UPLOADS}/InnoHK-Launch-Ceremony.jpg",
                    "InnoHK Launch Ceremony",
                    thumbnail_url=f"{CPII_UPLOADS}/InnoHK-Launch-Ceremony-1024x683.jpg",
                )
            ],
            extraction={
                "title": "rss",
                "published_at": "rss:pubDate",
                "body": "rss:content",
                "images": "rss",
                "category": "rss",
                "lang": "config",
            },
        ),
        html_shape=True,
    )


def test_cpii_category_page() -> None:
    response, config = page("cpii/category-news").response(), SOURCES["cpii"]
    post = "https://www.cpii.hk/{}/"
    assert [(url, d and d.isoformat()) for url, d in detail_links(response, config)] == [
        (post.format("2024/01/09/media-coverage-recap-cpii-and-rthk-mou-signing-ceremony"),
         "2024-01-09"),
        (post.format("2023/08/25/cpii-summer-internship-programme-2023"), "2023-08-25"),
        (post.format("2023/04/18/cpii-research-seminar-speech-technology-for-healthcare"),
         "2023-04-18"),
        (post.format("2022/12/07/the-chinese-university-of-hong-kong-innovation-day-2022"),
         "2022-12-07"),
        # Only in the sidebar's "Recent Posts", where no date is shown: links are found by
        # their URL pattern, wherever they are.
        (CPII_POST, None),
    ]  # fmt: skip
    assert next_page(response, config) == "https://www.cpii.hk/category/news/page/2/"


def test_generic_page_of_a_site_nobody_described() -> None:
    """tests/fixtures/generic/wp-lazy-images, read by hand: featured image first, the lazy
    image at its 2x candidate, no related-post teaser or sidebar icon."""
    from crawler.extract.generic import undescribed_source

    fixture = page("generic/wp-lazy-images")
    article = extract_detail(fixture.response(), undescribed_source(fixture.meta["url"]))
    uploads = "https://www.lab.example/wp-content/uploads/2023/11"
    assert article.title == "Students build a tide gauge from spare parts"
    assert article.published_at == "2023-11-20T10:30:00+08:00"
    assert [p.url for p in article.photos] == [
        f"{uploads}/tide-gauge-team.jpg",
        f"{uploads}/gauge-on-pier-1412x772.jpg",
    ]
    assert article.body_text.startswith("Four undergraduate students spent the autumn term")
    assert article.body_text.endswith("so that the readings can be compared along the coast.")
    assert "Related" not in article.body_text


def test_every_kind_of_fixture_page_is_checked_here() -> None:
    checked = {
        ("govhk", "release", "en"), ("govhk", "release", "zh"), ("govhk", "index", "en"),
        ("govhk", "index", "zh"), ("govhk", "feed", "en"), ("govhk", "feed", "zh"),
        ("cairs", "detail", "en"), ("cairs", "listing", "en"), ("cpii", "detail", "en"),
        ("cpii", "wp-api", "en"), ("cpii", "rss", "en"), ("cpii", "listing", "en"),
        ("generic", "detail", None),
    }  # fmt: skip
    kinds = {(f.folder.parent.name, f.meta["kind"], f.meta["lang"]) for f in PAGES.values()}
    assert kinds == checked, "a new kind of page needs a hand-written check here"
