"""Dated legal parameters (法令で定める年齢・金額・率・期限): every value a business area's rules
take from the law or a town's ordinance, read as of a date, with its source cited."""
