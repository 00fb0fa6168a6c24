<!DOCTYPE html>
<html lang="zh-Hant-HK">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="format-detection" content="telephone=no">
<title>關於我們 | 香港智慧城市研究中心</title>
<link rel="stylesheet" href="/css/reset.css">
<link rel="stylesheet" href="/css/style.css?20231102">
<link rel="stylesheet" href="/css/lightbox.min.css">
<link rel="stylesheet" href="/css/print.css" media="print">
<script src="/js/jquery-3.5.1.min.js"></script>
<script src="/js/lightbox.min.js"></script>
<script src="/js/common.js?20231102"></script>
</head>
<body class="lang-tc">
<a class="skip" href="#content">跳至主要內容</a>
<div id="wrapper">
	<header id="header">
		<div class="inner">
			<h1 class="logo"><a href="/tc/"><img src="/images/logo_tc.png" alt="香港智慧城市研究中心"></a></h1>
			<div class="tools">
				<div class="fontsize"><span>字型大小</span> <a href="javascript:void(0);" class="fs-s" title="A">A</a> <a href="javascript:void(0);" class="fs-m" title="A">A</a> <a href="javascript:void(0);" class="fs-l" title="A">A</a></div>
				<div class="langsw"><a href="/en/about.php" lang="en">English</a></div>
				<form class="search" action="https://www.google.com/search" method="get" target="_blank"><input type="hidden" name="sitesearch" value="www.smartcity.example"><input type="text" name="q" title="Search"><input type="submit" value="Search"></form>
			</div>
		</div>
		<nav id="gnav">
			<ul>
				<li><a href="/tc/">主頁</a></li>
				<li class="active"><a href="/tc/about.php">關於我們</a></li>
				<li><a href="/tc/news/">新聞</a></li>
				<li><a href="/tc/contact.php">聯絡我們</a></li>
			</ul>
		</nav>
	</header>
	<div id="content">
		<div class="breadcrumb"><a href="/tc/">主頁</a> &gt; <span>關於我們</span></div>
		<div class="main-col">
			<h2 class="page-title">關於我們</h2>
			<p>香港智慧城市研究中心從事城市數據、交通及數碼基建的研究。</p>
			<p>我們與政府部門、大學及業界夥伴合作。</p>
		</div>
	</div>
	<footer id="footer">
		<div class="inner">
			<ul class="flinks">
				<li><a href="/tc/notices.php">重要告示</a></li>
				<li><a href="/tc/privacy.php">私隱政策</a></li>
				<li><a href="/tc/accessibility.php">無障礙說明</a></li>
			</ul>
			<p class="copyright">&copy; 2024 香港智慧城市研究中心 版權所有</p>
			<p class="revision">修訂日期: 2024-01-08</p>
		</div>
	</footer>
</div>
<a href="#wrapper" id="pagetop">TOP</a>
</body>
</html>
