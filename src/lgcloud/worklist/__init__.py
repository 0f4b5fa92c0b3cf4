"""処理待ち (the work list): what a change in one part leaves for a business area's staff to
decide, kept until someone settles it; an item left too long is flagged."""
