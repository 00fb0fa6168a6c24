"""The project's Scrapy commands (COMMANDS_MODULE): `scrapy crawl` with the CLI's exit codes."""
