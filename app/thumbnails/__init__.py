"""Server-side thumbnails of images, PDFs and videos (issue 18)."""
