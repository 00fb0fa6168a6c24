<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="format-detection" content="telephone=no">
<title>About Us | Hong Kong Smart City Research Centre</title>
<link rel="stylesheet" href="/css/reset.css">
<link rel="stylesheet" href="/css/style.css?20231102">
<link rel="stylesheet" href="/css/lightbox.min.css">
<link rel="stylesheet" href="/css/print.css" media="print">
<script src="/js/jquery-3.5.1.min.js"></script>
<script src="/js/lightbox.min.js"></script>
<script src="/js/common.js?20231102"></script>
</head>
<body class="lang-en">
<a class="skip" href="#content">Skip to main content</a>
<div id="wrapper">
	<header id="header">
		<div class="inner">
			<h1 class="logo"><a href="/en/"><img src="/images/logo_en.png" alt="Hong Kong Smart City Research Centre"></a></h1>
			<div class="tools">
				<div class="fontsize"><span>Font size</span> <a href="javascript:void(0);" class="fs-s" title="A">A</a> <a href="javascript:void(0);" class="fs-m" title="A">A</a> <a href="javascript:void(0);" class="fs-l" title="A">A</a></div>
				<div class="langsw"><a href="/tc/about.php" lang="zh-Hant-HK">繁體</a></div>
				<form class="search" action="https://www.google.com/search" method="get" target="_blank"><input type="hidden" name="sitesearch" value="www.smartcity.example"><input type="text" name="q" title="Search"><input type="submit" value="Search"></form>
			</div>
		</div>
		<nav id="gnav">
			<ul>
				<li><a href="/en/">Home</a></li>
				<li class="active"><a href="/en/about.php">About Us</a></li>
				<li><a href="/en/news/">News</a></li>
				<li><a href="/en/contact.php">Contact Us</a></li>
			</ul>
		</nav>
	</header>
	<div id="content">
		<div class="breadcrumb"><a href="/en/">Home</a> &gt; <span>About Us</span></div>
		<div class="main-col">
			<h2 class="page-title">About Us</h2>
			<p>The Hong Kong Smart City Research Centre carries out research on urban data, mobility and digital infrastructure.</p>
			<p>We work with government departments, universities and industry partners.</p>
		</div>
	</div>
	<footer id="footer">
		<div class="inner">
			<ul class="flinks">
				<li><a href="/en/notices.php">Important Notices</a></li>
				<li><a href="/en/privacy.php">Privacy Policy</a></li>
				<li><a href="/en/accessibility.php">Accessibility</a></li>
			</ul>
			<p class="copyright">&copy; 2024 Hong Kong Smart City Research Centre. All rights reserved.</p>
			<p class="revision">Last revision date: 2024-01-08</p>
		</div>
	</footer>
</div>
<a href="#wrapper" id="pagetop">TOP</a>
</body>
</html>
